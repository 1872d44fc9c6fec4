# ch4_forward_reverse_hist.gp: renders ch4_forward_reverse_hist.png from ch4_forward_reverse_hist.dat. Re-render with:  cd figures && gnuplot ch4_forward_reverse_hist.gp
if (!exists("outfile")) outfile = 'ch4_forward_reverse_hist.png'
set terminal pngcairo size 1500,600 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_forward_reverse_hist.dat'
set multiplot layout 2,5 title 'Histograms (bars) of the forward SDE (top, t increasing) and the reverse SDE (bottom, t decreasing) vs the exact p_t (line)'
set xrange [-4:4]; set yrange [0:1.0]; set style fill solid 0.8 noborder; unset key
array T[5] = [0, 0.25, 0.5, 0.75, 1]
set title sprintf('forward, t = %g', T[1]); plot dat index 0 using 1:2 with boxes lc rgb '#9ecae1', '' index 0 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('forward, t = %g', T[2]); plot dat index 1 using 1:2 with boxes lc rgb '#9ecae1', '' index 1 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('forward, t = %g', T[3]); plot dat index 2 using 1:2 with boxes lc rgb '#9ecae1', '' index 2 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('forward, t = %g', T[4]); plot dat index 3 using 1:2 with boxes lc rgb '#9ecae1', '' index 3 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('forward, t = %g', T[5]); plot dat index 4 using 1:2 with boxes lc rgb '#9ecae1', '' index 4 using 1:3 with lines lw 2 lc rgb '#d7301f'
set title sprintf('reverse, t = %g', T[5]); plot dat index 9 using 1:2 with boxes lc rgb '#fdd0a2', '' index 9 using 1:3 with lines lw 2 lc rgb '#08519c'
set title sprintf('reverse, t = %g', T[4]); plot dat index 8 using 1:2 with boxes lc rgb '#fdd0a2', '' index 8 using 1:3 with lines lw 2 lc rgb '#08519c'
set title sprintf('reverse, t = %g', T[3]); plot dat index 7 using 1:2 with boxes lc rgb '#fdd0a2', '' index 7 using 1:3 with lines lw 2 lc rgb '#08519c'
set title sprintf('reverse, t = %g', T[2]); plot dat index 6 using 1:2 with boxes lc rgb '#fdd0a2', '' index 6 using 1:3 with lines lw 2 lc rgb '#08519c'
set title sprintf('reverse, t = %g', T[1]); plot dat index 5 using 1:2 with boxes lc rgb '#fdd0a2', '' index 5 using 1:3 with lines lw 2 lc rgb '#08519c'
unset multiplot
