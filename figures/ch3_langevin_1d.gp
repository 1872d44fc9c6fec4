# ch3_langevin_1d.gp: renders ch3_langevin_1d.png from ch3_langevin_1d.dat. Re-render with:  cd figures && gnuplot ch3_langevin_1d.gp
if (!exists("outfile")) outfile = 'ch3_langevin_1d.png'
set terminal pngcairo size 1100,380 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_langevin_1d.dat'
set multiplot layout 1,5 title 'Langevin with the exact score: particles (bars) converge to p (line)'
array K[5] = [0, 10, 100, 1000, 5000]
set xrange [-6:5]; set yrange [0:0.8]; set style fill solid 0.7 noborder; unset key; set xlabel 'x'
set title sprintf('k = %d', K[1])
plot dat index 0 using 1:2 with boxes lc rgb '#9ecae1', '' index 0 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('k = %d', K[2])
plot dat index 1 using 1:2 with boxes lc rgb '#9ecae1', '' index 1 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('k = %d', K[3])
plot dat index 2 using 1:2 with boxes lc rgb '#9ecae1', '' index 2 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('k = %d', K[4])
plot dat index 3 using 1:2 with boxes lc rgb '#9ecae1', '' index 3 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('k = %d', K[5])
plot dat index 4 using 1:2 with boxes lc rgb '#9ecae1', '' index 4 using 1:3 with lines lw 2 lc rgb '#d7301f'
unset multiplot
