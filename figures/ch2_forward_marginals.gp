# ch2_forward_marginals.gp: renders ch2_forward_marginals.png from ch2_forward_marginals.dat. Re-render with:  cd figures && gnuplot ch2_forward_marginals.gp
if (!exists("outfile")) outfile = 'ch2_forward_marginals.png'
set terminal pngcairo size 1200,600 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_forward_marginals.dat'
set multiplot layout 2,3 title 'q(x_t): histogram of the iterated chain (bars) vs the closed-form noised mixture (line)'
array T[6] = [0, 50, 100, 200, 400, 1000]
set xrange [-4:4]; set yrange [0:1.0]; set style fill solid 0.8 noborder; unset key
set title sprintf('t = %d', T[1])
plot dat index 0 using 1:2 with boxes lc rgb '#9ecae1', '' index 0 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('t = %d', T[2])
plot dat index 1 using 1:2 with boxes lc rgb '#9ecae1', '' index 1 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('t = %d', T[3])
plot dat index 2 using 1:2 with boxes lc rgb '#9ecae1', '' index 2 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('t = %d', T[4])
plot dat index 3 using 1:2 with boxes lc rgb '#9ecae1', '' index 3 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('t = %d', T[5])
plot dat index 4 using 1:2 with boxes lc rgb '#9ecae1', '' index 4 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('t = %d', T[6])
plot dat index 5 using 1:2 with boxes lc rgb '#9ecae1', '' index 5 using 1:3 with lines lw 2 lc rgb '#d7301f'
unset multiplot
