# ch1_vae2d.gp: renders ch1_vae2d.png from ch1_vae2d.dat. Re-render with:  cd figures && gnuplot ch1_vae2d.gp
if (!exists("outfile")) outfile = 'ch1_vae2d.png'
set terminal pngcairo size 1500,480 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_vae2d.dat'
set multiplot layout 1,3 title 'A VAE with a 1D latent on 2D data (a noisy sine curve): encoder q_φ(z|x) and decoder mean manifold m_θ(z)'
set palette defined (0 '#2166ac', 1 '#67a9cf', 2 '#f7f7f7', 3 '#ef8a62', 4 '#b2182b'); set cbrange [-3:3]
set title 'data space: data x (grey), m_θ(z) for z in [-3,3] (colour = z)'; set size ratio -1
set xrange [-1.4:1.4]; set yrange [-1.0:1.0]; set cblabel 'z'; unset key
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', \
     '' index 1 using 2:3:1 with lines lw 4 lc palette, \
     '' index 2 using 1:2:($3+1) with points pt 7 ps 2 lc variable
set title 'latent space: q_φ(z|x) (solid) and the exact p_θ(z|x) (dotted)'; set size noratio; unset colorbox
set xrange [-3.5:3.5]; set yrange [0:*]; set xlabel 'z'; set ylabel 'q(z|x), p_θ(z|x) of the 5 points'; set key top left font ',9'
set y2range [0:1.2]; set y2tics; set y2label 'prior and aggregate posterior'; set style fill solid 0.3 noborder
plot dat index 8 using 1:2 axes x1y2 with boxes lc rgb '#bdbdbd' title 'z drawn from q(z|x), x from the data', \
     '' index 8 using 1:3 axes x1y2 with lines lw 2 lc rgb 'black' title 'prior N(0,1)', \
     for [i=0:4] '' index 3+i using 1:2 with lines lw 1.5 lc i+1 notitle, \
     for [i=0:4] '' index 3+i using 1:3 with lines lw 3 dt 3 lc i+1 notitle
set title 'training: -ELBO = recon + KL (moving average)'; set xlabel 'step (batch 256)'; set ylabel 'nats per point'
set xrange [*:*]; set yrange [*:*]; unset y2tics; unset y2label; set key top right
plot dat index 9 using 1:4 with lines lw 2 lc rgb 'black' title '-ELBO', \
     '' index 9 using 1:2 with lines lw 2 lc rgb '#3182bd' title 'recon -E_q log p(x|z)', \
     '' index 9 using 1:3 with lines lw 2 lc rgb '#d7301f' title 'KL(q(z|x) || p(z))'
unset multiplot
