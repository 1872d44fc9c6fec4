# ch1_train_curve.gp: renders ch1_train_curve.png from ch1_train_curve.dat. Re-render with:  cd figures && gnuplot ch1_train_curve.gp
if (!exists("outfile")) outfile = 'ch1_train_curve.png'
set terminal pngcairo size 1100,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_train_curve.dat'
set multiplot layout 1,2 title 'Fashion-MNIST VAE (2D latent) training: the ELBO and its two terms'
set xlabel 'step (batch 128)'; set ylabel 'nats per image'; set key top right
set title '-ELBO = recon + KL, and recon'
plot dat using 1:2 with lines lw 2 lc rgb 'black' title '-ELBO', '' using 1:3 with lines lw 2 lc rgb '#3182bd' title 'recon -E_q log p(x|z)'
set title 'prior matching KL(q(z|x) || N(0, I))'; set key bottom right
plot dat using 1:4 with lines lw 2 lc rgb '#d7301f' title 'KL'
unset multiplot
