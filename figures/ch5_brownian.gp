# ch5_brownian.gp: renders ch5_brownian.png from ch5_brownian.dat. Re-render with:  cd figures && gnuplot ch5_brownian.gp
if (!exists("outfile")) outfile = 'ch5_brownian.png'
set terminal pngcairo size 1500,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch5_brownian.dat'
set multiplot layout 1,3 title 'Brownian motion x_t = sqrt(2D) w_t, D = 0.5'
set title '30 paths and the envelope +-2 sqrt(2 D t)'; set xlabel 't'; set ylabel 'x_t'
plot for [k=0:29] dat index k using 1:2 with lines lw 1 lc k+1 notitle, \
     [0:1] 2*sqrt(2*0.5*x) with lines lw 3 lc rgb 'black' title '+-2 sqrt(2Dt)', -2*sqrt(2*0.5*x) with lines lw 3 lc rgb 'black' notitle
set title 'variance grows linearly (10000 paths)'; set ylabel 'Var(x_t)'; set key top left
plot dat index 30 using 1:2 with points pt 7 ps 0.6 title 'sample variance', '' index 30 using 1:3 with lines lw 2 title '2 D t'
set title 'histograms of x_t vs N(0, 2Dt)'; set xlabel 'x'; set ylabel 'density'; set key top right; set style fill solid 0.4 noborder
array T[3] = [0.1, 0.5, 1]
plot for [s=1:3] dat index 30+s using 1:2 with boxes lc s fs transparent solid 0.35 notitle, \
     for [s=1:3] dat index 30+s using 1:3 with lines lw 2 lc s title sprintf('t = %.1f', T[s])
unset multiplot
