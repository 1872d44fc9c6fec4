# ch4_forward_reverse_1d.gp: renders ch4_forward_reverse_1d.png from ch4_forward_reverse_1d.dat. Re-render with:  cd figures && gnuplot ch4_forward_reverse_1d.gp
if (!exists("outfile")) outfile = 'ch4_forward_reverse_1d.png'
set terminal pngcairo size 1300,480 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_forward_reverse_1d.dat'
set multiplot layout 1,2 title 'VP SDE on a 1D mixture: the exact density p_t(x) and Euler-Maruyama paths (1000 steps)'
set yrange [-4:4]; set ylabel 'x'; set cbrange [0:1]; unset colorbox
set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b')
set title 'forward: dx = -beta x/2 dt + sqrt(beta) dw, data -> noise'; set xlabel 't'; set xrange [0:1]
plot dat index 0 using 1:2:3 with image notitle, for [k=1:30] dat index k with lines lw 1 lc rgb '#d7301f' notitle
set title 'reverse: dx = [f - beta s(x,t)] dt + sqrt(beta) dw (time reversed), noise -> data'; set xlabel 't (running backwards)'; set xrange [1:0]
plot dat index 0 using 1:2:3 with image notitle, for [k=31:60] dat index k with lines lw 1 lc rgb '#fd8d3c' notitle
unset multiplot
