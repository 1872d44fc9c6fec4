# ch2_reverse_2d_gmm.gp: renders ch2_reverse_2d_gmm.png from ch2_reverse_2d_gmm.dat. Re-render with:  cd figures && gnuplot ch2_reverse_2d_gmm.gp
if (!exists("outfile")) outfile = 'ch2_reverse_2d_gmm.png'
set terminal pngcairo size 1500,330 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_reverse_2d_gmm.dat'
set multiplot layout 1,5 title 'Reverse process (ancestral sampling with the trained ε_θ, gmm, T = 200)'
set size ratio -1; set xrange [-2.5:2.5]; set yrange [-2.5:2.5]; unset key; set xtics 1 font ',9'; set ytics 1 font ',9'
set title 't = 200'
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#08519c'
set title 't = 150'
plot dat index 1 using 1:2 with points pt 7 ps 0.2 lc rgb '#08519c'
set title 't = 100'
plot dat index 2 using 1:2 with points pt 7 ps 0.2 lc rgb '#08519c'
set title 't = 50'
plot dat index 3 using 1:2 with points pt 7 ps 0.2 lc rgb '#08519c'
set title 't = 0'
plot dat index 4 using 1:2 with points pt 7 ps 0.2 lc rgb '#08519c'
unset multiplot
