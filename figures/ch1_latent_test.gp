# ch1_latent_test.gp: renders ch1_latent_test.png from ch1_latent_test.dat. Re-render with:  cd figures && gnuplot ch1_latent_test.gp
if (!exists("outfile")) outfile = 'ch1_latent_test.png'
set terminal pngcairo size 900,750 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_latent_test.dat'
set title 'Encoded Fashion-MNIST test images: mu_φ(x) in the 2D latent space, by class'
set size ratio -1; set xrange [-4:4]; set yrange [-4:4]; set xlabel 'z_1'; set ylabel 'z_2'
set key outside right font ',10'
array NAMES[10]
NAMES[1] = 'T-shirt/top'
NAMES[2] = 'Trouser'
NAMES[3] = 'Pullover'
NAMES[4] = 'Dress'
NAMES[5] = 'Coat'
NAMES[6] = 'Sandal'
NAMES[7] = 'Shirt'
NAMES[8] = 'Sneaker'
NAMES[9] = 'Bag'
NAMES[10] = 'Ankle boot'
array COL[10] = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf']
plot for [c=0:9] dat using ($3 == c ? $1 : NaN):2 with points pt 7 ps 0.5 lc rgb COL[c+1] title NAMES[c+1]
