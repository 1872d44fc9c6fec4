# ddim_fmnist_nfe.gp: renders ddim_fmnist_nfe.png from ddim_fmnist_nfe.dat. Re-render with:  cd figures && gnuplot ddim_fmnist_nfe.gp
if (!exists("outfile")) outfile = 'ddim_fmnist_nfe.png'
set terminal pngcairo size 800,500 enhanced font 'Sans,10'
set output outfile
dat = 'ddim_fmnist_nfe.dat'
set title 'Image quality against cost: Fashion-MNIST with the U-Net (FID of 100 samples / the floor of 100 real images)'
set logscale xy; set xlabel 'network evaluations (steps)'; set ylabel 'FID / real-data floor'; set key top right font ',9'
set xrange [8:1300]; set yrange [0.8:40]
array NAMES[5] = ['DDPM ancestral (sigma^2 = beta)', 'DDIM eta = 1 (= chapter 2)', 'DDIM eta = 0', 'accelerated (gamma = 2)', 'DPM-Solver++(2M)']
plot for [m=0:4] dat index m using 1:2 with linespoints lw 2 pt 7 lc (m < 4 ? m + 1 : 7) title NAMES[m+1], \
     1 with lines dt 3 lw 2 lc rgb 'black' title 'real-data floor', 21.9753 with lines dt 2 lc rgb 'grey' title 'uniform noise'
