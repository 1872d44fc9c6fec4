# ch3_grad_ascent_gmm.gp: renders ch3_grad_ascent_gmm.png from ch3_grad_ascent_gmm.dat. Re-render with:  cd figures && gnuplot ch3_grad_ascent_gmm.gp
if (!exists("outfile")) outfile = 'ch3_grad_ascent_gmm.png'
set terminal pngcairo size 1400,400 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_grad_ascent_gmm.dat'
set multiplot layout 1,4 title 'Without the noise: gradient ascent on log p (tau = 0.01, 2000 particles from a uniform box) over log p'
array K[4] = [0, 10, 100, 1000]
set size ratio -1; set xrange [-2.5:2.5]; set yrange [-2.5:2.5]; unset key; unset colorbox
set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-8:1]
set title sprintf('k = %d', K[1])
plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title sprintf('k = %d', K[2])
plot dat index 0 using 1:2:3 with image, '' index 2 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title sprintf('k = %d', K[3])
plot dat index 0 using 1:2:3 with image, '' index 3 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title sprintf('k = %d, and 5 paths over k = 0..150', K[4])
plot dat index 0 using 1:2:3 with image, '' index 4 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f', \
     for [q=0:4] dat index 5+q using 1:2 with lines lw 1.2 lc q+1
unset multiplot
