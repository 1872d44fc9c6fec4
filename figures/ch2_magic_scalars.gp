# ch2_magic_scalars.gp: renders ch2_magic_scalars.png from ch2_magic_scalars.dat. Re-render with:  cd figures && gnuplot ch2_magic_scalars.gp
if (!exists("outfile")) outfile = 'ch2_magic_scalars.png'
set terminal pngcairo size 1500,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_magic_scalars.dat'
set multiplot layout 1,3 title 'The magical scalars: histograms of x_t (points) and exact densities (lines), t = 0,5,10,20,50,100'
set xlabel 'x'; set ylabel 'density'; set key top left font ',8'
array T[6] = [0, 5, 10, 20, 50, 100]
set title 'x_t = sqrt(a) x_{t-1} + sqrt(1-a) eps'
set xrange [-4:4]; set yrange [0:1.0]
plot for [k=0:5] dat index 0+k using 1:2 with points pt 7 ps 0.3 lc k+1 notitle, \
     for [k=0:5] dat index 0+k using 1:3 with lines lw 2 lc k+1 title sprintf('t = %d', T[k+1])
set title 'x_t = x_{t-1} + sqrt(1-a) eps'
set xrange [-8:8]; set yrange [0:1.0]
plot for [k=0:5] dat index 6+k using 1:2 with points pt 7 ps 0.3 lc k+1 notitle, \
     for [k=0:5] dat index 6+k using 1:3 with lines lw 2 lc k+1 title sprintf('t = %d', T[k+1])
set title 'x_t = a x_{t-1} + (1-a) eps'
set xrange [-4:4]; set yrange [0:*]
plot for [k=0:5] dat index 12+k using 1:2 with points pt 7 ps 0.3 lc k+1 notitle, \
     for [k=0:5] dat index 12+k using 1:3 with lines lw 2 lc k+1 title sprintf('t = %d', T[k+1])
unset multiplot
