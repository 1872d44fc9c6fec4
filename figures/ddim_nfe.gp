# ddim_nfe.gp: renders ddim_nfe.png from ddim_nfe.dat. Re-render with:  cd figures && gnuplot ddim_nfe.gp
if (!exists("outfile")) outfile = 'ddim_nfe.png'
set terminal pngcairo size 1300,520 enhanced font 'Sans,10'
set output outfile
dat = 'ddim_nfe.dat'
set multiplot layout 1,2 title 'Quality against cost on the 2D mixture: sliced W1 to the data law'
set logscale xy; set xlabel 'network evaluations (steps)'; set ylabel 'sliced W1'; set xrange [4:1200]; set yrange [0.005:2]
array NAMES[4] = ['DDPM ancestral (sigma^2 = beta)', 'DDIM eta = 1 (= chapter 2)', 'DDIM eta = 0', 'accelerated (gamma = 2)']
set key top right font ',9'
set title 'exact denoiser E[x_0 | x_t]'
plot for [m=0:3] dat index 0+m using 1:2 with linespoints lw 2 pt 7 lc m+1 title NAMES[m+1], \
     0.0176786 with lines dt 3 lw 2 lc rgb 'black' title 'noise floor (n = 2000)'
set title 'trained eps network (toymodel)'
plot for [m=0:3] dat index 4+m using 1:2 with linespoints lw 2 pt 7 lc m+1 title NAMES[m+1], \
     0.0258397 with lines dt 3 lw 2 lc rgb 'black' title 'noise floor (n = 1000)'
unset multiplot
