# ch3_annealed_langevin.gp: renders ch3_annealed_langevin.png from ch3_annealed_langevin.dat. Re-render with:  cd figures && gnuplot ch3_annealed_langevin.gp
if (!exists("outfile")) outfile = 'ch3_annealed_langevin.png'
set terminal pngcairo size 1600,440 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_annealed_langevin.dat'
set multiplot layout 1,4 title 'Annealed Langevin with the learned s_{θ}(x, σ): particles after level i over log p_{σ_i}'
set size ratio -1; set xrange [-4:4]; set yrange [-4:4]; unset key; unset colorbox
set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-12:1]
set title 'level 1, sigma = 6.00'
plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title 'level 4, sigma = 1.22'
plot dat index 2 using 1:2:3 with image, '' index 3 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title 'level 7, sigma = 0.25'
plot dat index 4 using 1:2:3 with image, '' index 5 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title 'level 10, sigma = 0.05'
plot dat index 6 using 1:2:3 with image, '' index 7 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
unset multiplot
