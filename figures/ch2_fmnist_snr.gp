# ch2_fmnist_snr.gp: renders ch2_fmnist_snr.png from ch2_fmnist_snr.dat. Re-render with:  cd figures && gnuplot ch2_fmnist_snr.gp
if (!exists("outfile")) outfile = 'ch2_fmnist_snr.png'
set terminal pngcairo size 800,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_fmnist_snr.dat'
set title 'Per-frequency SNR of the forward process on Fashion-MNIST (measured spectrum)'
set logscale y; set format y '10^{%L}'; set xlabel 't'; set ylabel 'SNR'; set key top right title 'band 1 = lowest |k|'
plot for [b=0:5] dat using 1:(column(b+2)) with lines lw 2 title sprintf('frequency band %d of 6', b+1), \
     1 with lines dt 2 lc rgb 'black' title 'SNR = 1'
