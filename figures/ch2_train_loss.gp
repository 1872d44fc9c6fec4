# ch2_train_loss.gp: renders ch2_train_loss.png from ch2_train_loss.dat. Re-render with:  cd figures && gnuplot ch2_train_loss.gp
if (!exists("outfile")) outfile = 'ch2_train_loss.png'
set terminal pngcairo size 800,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_train_loss.dat'
set title 'Training loss ||ε_θ(x_t, t) - ε||^2 (moving average)'
set xlabel 'step'; set ylabel 'loss'; set logscale y
array NAMES[2]
NAMES[1] = 'gmm'
NAMES[2] = 'swissroll'
plot for [k=0:1] dat index k using 1:3 with lines lw 2 title NAMES[k+1]
