# flow_fmnist_steps.gp: renders flow_fmnist_steps.png from flow_fmnist_steps.dat. Re-render with:  cd figures && gnuplot flow_fmnist_steps.gp
if (!exists("outfile")) outfile = 'flow_fmnist_steps.png'
set terminal pngcairo size 900,620 enhanced font 'Sans,10'
set output outfile
dat = 'flow_fmnist_steps.dat'
set title "Rows 1-3: flow matching, Euler K = 10, 20, 50; rows 4-6: chapter 2's DDPM U-Net, DDIM K = 10, 20, 50 (same x_1)"
set size ratio -1; set xrange [0:862]; set yrange [0:518]; unset key; set border 0
unset xtics
unset ytics
plot 'flow_fmnist_steps_pixels.png' binary filetype=png with rgbimage
