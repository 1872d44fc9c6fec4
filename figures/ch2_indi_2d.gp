# ch2_indi_2d.gp: renders ch2_indi_2d.png from ch2_indi_2d.dat. Re-render with:  cd figures && gnuplot ch2_indi_2d.gp
if (!exists("outfile")) outfile = 'ch2_indi_2d.png'
set terminal pngcairo size 1500,330 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_indi_2d.dat'
set multiplot layout 1,5 title 'InDI with the exact conditional mean: from y = x + 0.5 n (t = 1) to x (t = 0)'
set size ratio -1; set xrange [-2:2]; set yrange [-2:2]; unset key; set xtics 1 font ',9'; set ytics 1 font ',9'
set title 't = 1.00'
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#238b45'
set title 't = 0.75'
plot dat index 1 using 1:2 with points pt 7 ps 0.2 lc rgb '#238b45'
set title 't = 0.50'
plot dat index 2 using 1:2 with points pt 7 ps 0.2 lc rgb '#238b45'
set title 't = 0.25'
plot dat index 3 using 1:2 with points pt 7 ps 0.2 lc rgb '#238b45'
set title 't = 0.00'
plot dat index 4 using 1:2 with points pt 7 ps 0.2 lc rgb '#238b45'
unset multiplot
