# ch2_fmnist_train_loss.gp: renders ch2_fmnist_train_loss.png from ch2_fmnist_train_loss.dat. Re-render with:  cd figures && gnuplot ch2_fmnist_train_loss.gp
if (!exists("outfile")) outfile = 'ch2_fmnist_train_loss.png'
set terminal pngcairo size 800,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_fmnist_train_loss.dat'
set title 'U-Net training on Fashion-MNIST: ||net(x_t, t) - target||^2 (moving average)'
set xlabel 'step (batch 32)'; set ylabel 'loss'; set logscale y; unset key
plot dat using 1:2 with lines lw 2
