# ch2_fmnist_reverse.gp: renders ch2_fmnist_reverse.png from ch2_fmnist_reverse.dat. Re-render with:  cd figures && gnuplot ch2_fmnist_reverse.gp
if (!exists("outfile")) outfile = 'ch2_fmnist_reverse.png'
set terminal pngcairo size 1000,700 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_fmnist_reverse.dat'
set title "Reverse process with the U-Net (T = 250): each row one sample, x_t at the times below"
set size ratio -1; set xrange [0:776]; set yrange [0:518]; unset key; set border 0
set xtics ("t = 250" 44, "t = 160" 130, "t = 131" 216, "t = 110" 302, "t = 92" 388, "t = 76" 474, "t = 60" 560, "t = 41" 646, "t = 0" 732) scale 0 font ',9'
unset ytics
plot 'ch2_fmnist_reverse_pixels.png' binary filetype=png with rgbimage
