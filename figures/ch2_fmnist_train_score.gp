# ch2_fmnist_train_score.gp: renders ch2_fmnist_train_score.png from ch2_fmnist_train_score.dat. Re-render with:  cd figures && gnuplot ch2_fmnist_train_score.gp
if (!exists("outfile")) outfile = 'ch2_fmnist_train_score.png'
set terminal pngcairo size 800,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_fmnist_train_score.dat'
set title 'Sample quality during training (N = 500, 20 DDIM steps, EMA weights)'
set xlabel 'training time (minutes, 2 cores)'; set ylabel 'Fréchet score (lower is better)'; set logscale y
set key top right
plot dat index 0 using 2:3 with linespoints lw 2 pt 7 title 'samples (min-SNR weights, shipped)', \
     dat index 1 using 2:3 with linespoints lw 2 pt 6 title 'samples (plain loss, ch2\_fmnist\_plain)', \
     dat index 0 using 2:4 with lines dt 2 lw 2 lc rgb 'black' title 'floor: real training images'
