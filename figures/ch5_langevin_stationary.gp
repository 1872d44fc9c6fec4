# ch5_langevin_stationary.gp: renders ch5_langevin_stationary.png from ch5_langevin_stationary.dat. Re-render with:  cd figures && gnuplot ch5_langevin_stationary.gp
if (!exists("outfile")) outfile = 'ch5_langevin_stationary.png'
set terminal pngcairo size 1500,420 enhanced font 'Sans,10'
set output outfile
dat = 'ch5_langevin_stationary.dat'
set multiplot layout 1,5 title 'Langevin dx = -U''(x) dt + sqrt(2) dw, U = 2(x^2-1)^2: Fokker-Planck grid (red), particles (bars), e^{-U}/Z (dashed)'
set xlabel 'x'; set xrange [-2.5:2.5]; set yrange [0:2.2]; set style fill transparent solid 0.35 noborder; unset key
set title 't = 0'
plot dat index 0 using 1:3 with boxes lc rgb '#6baed6', '' index 0 using 1:2 with lines lw 3 lc rgb '#d7301f', '' index 0 using 1:4 with lines dt 2 lw 2 lc rgb 'black'
set title 't = 0.1'
plot dat index 1 using 1:3 with boxes lc rgb '#6baed6', '' index 1 using 1:2 with lines lw 3 lc rgb '#d7301f', '' index 1 using 1:4 with lines dt 2 lw 2 lc rgb 'black'
set title 't = 1'
plot dat index 2 using 1:3 with boxes lc rgb '#6baed6', '' index 2 using 1:2 with lines lw 3 lc rgb '#d7301f', '' index 2 using 1:4 with lines dt 2 lw 2 lc rgb 'black'
set title 't = 10'
plot dat index 3 using 1:3 with boxes lc rgb '#6baed6', '' index 3 using 1:2 with lines lw 3 lc rgb '#d7301f', '' index 3 using 1:4 with lines dt 2 lw 2 lc rgb 'black'
set title 'mass in the right well x > 0'; set logscale x; set xrange [0.01:10]; set yrange [0.4:1.02]; set xlabel 't'; set key center left
plot dat index 4 using 1:2 with lines lw 3 lc rgb '#d7301f' title 'grid', '' index 4 using 1:3 with points pt 7 ps 0.6 lc rgb '#3182bd' title 'particles', 0.5 with lines dt 2 lc rgb 'black' title 'p_{inf}: 1/2'
unset multiplot
