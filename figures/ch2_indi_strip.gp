# ch2_indi_strip.gp: renders ch2_indi_strip.png from ch2_indi_strip.dat. Re-render with:  cd figures && gnuplot ch2_indi_strip.gp
if (!exists("outfile")) outfile = 'ch2_indi_strip.png'
set terminal pngcairo size 1100,660 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_indi_strip.dat'
set title 'InDI on Fashion-MNIST: y = x + 2n, x_{t-δ} = (δ/t) F(x_t, t) + (1 - δ/t) x_t, F = ideal denoiser of 1000 training images' font ',11'
set palette gray; set cbrange [-1:1]; unset colorbox; unset border; unset tics; set size ratio -1
set xrange [-0.5:208]; set yrange [-0.5:186]
set label 1 'clean x' at 14, 183 center font ',10'
set label 2 'y (t = 1)' at 44, 183 center font ',10'
set label 3 't = 0.75' at 74, 183 center font ',10'
set label 4 't = 0.5' at 104, 183 center font ',10'
set label 5 't = 0.25' at 134, 183 center font ',10'
set label 6 't = 0' at 164, 183 center font ',10'
set label 7 'F(y, 1)' at 194, 183 center font ',10'
plot dat matrix with image notitle
