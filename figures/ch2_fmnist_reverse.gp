# ch2_fmnist_reverse.gp: renders ch2_fmnist_reverse.png from ch2_fmnist_reverse.dat. Re-render with:  cd figures && gnuplot ch2_fmnist_reverse.gp
if (!exists("outfile")) outfile = 'ch2_fmnist_reverse.png'
set terminal pngcairo size 1000,700 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_fmnist_reverse.dat'
set title "Reverse process with the U-Net (T = 1000): each row one sample, x_t at the times below"
set size ratio -1; set xrange [0:776]; set yrange [0:518]; unset key; set border 0
set xtics ("t = 1000" 44, "t = 920" 130, "t = 838" 216, "t = 754" 302, "t = 665" 388, "t = 567" 474, "t = 456" 560, "t = 317" 646, "t = 0" 732) scale 0 font ',9'
unset ytics
plot 'ch2_fmnist_reverse_pixels.png' binary filetype=png with rgbimage
