# ch1_reconstructions.gp: renders ch1_reconstructions.png from ch1_reconstructions.dat. Re-render with:  cd figures && gnuplot ch1_reconstructions.gp
if (!exists("outfile")) outfile = 'ch1_reconstructions.png'
set terminal pngcairo size 900,456 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_reconstructions.dat'
set title "Reconstructions: rows 1 and 3 are test images, rows 2 and 4 decode their codes mu_φ(x)"
set size ratio -1; set xrange [0:690]; set yrange [0:346]; unset key; set border 0
unset xtics
set ytics ("test image x" 302, "decoder(mu_φ(x))" 216, "test image x" 130, "decoder(mu_φ(x))" 44) scale 0 font ',9'
plot 'ch1_reconstructions_pixels.png' binary filetype=png with rgbimage
