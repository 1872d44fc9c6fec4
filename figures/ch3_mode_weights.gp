# ch3_mode_weights.gp: renders ch3_mode_weights.png from ch3_mode_weights.dat. Re-render with:  cd figures && gnuplot ch3_mode_weights.gp
if (!exists("outfile")) outfile = 'ch3_mode_weights.png'
set terminal pngcairo size 1100,540 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_mode_weights.dat'
set multiplot layout 1,2 title 'Mode weights, p = 0.2 (lower left) / 0.8 (upper right); same start, same learned network'
set size ratio -1; set xrange [-4:4]; set yrange [-4:4]; unset key; unset colorbox
set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-12:1]
set title 'plain Langevin at σ_{min}: 0.42 / 0.58'
plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'
set title 'annealed Langevin, 10 levels: 0.20 / 0.80'
plot dat index 0 using 1:2:3 with image, '' index 2 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'
unset multiplot
