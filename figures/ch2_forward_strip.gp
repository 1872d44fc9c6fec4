# ch2_forward_strip.gp: renders ch2_forward_strip.png from ch2_forward_strip.dat. Re-render with:  cd figures && gnuplot ch2_forward_strip.gp
if (!exists("outfile")) outfile = 'ch2_forward_strip.png'
set terminal pngcairo size 1000,230 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_forward_strip.dat'
set title "q(x_t | x_0) on one image, T = 1000: frames where sqrt(ᾱ_t) = 1, 7/8, ..., 1/8, then t = T"
set size ratio -1; set xrange [0:776]; set yrange [0:88]; unset key; set border 0
set xtics ("t = 0" 44, "t = 317" 130, "t = 456" 216, "t = 567" 302, "t = 665" 388, "t = 754" 474, "t = 838" 560, "t = 920" 646, "t = 1000" 732) scale 0 font ',9'
unset ytics
plot 'ch2_forward_strip_pixels.png' binary filetype=png with rgbimage
