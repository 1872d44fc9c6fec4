# ch2_forward_trajectories.gp: renders ch2_forward_trajectories.png from ch2_forward_trajectories.dat. Re-render with:  cd figures && gnuplot ch2_forward_trajectories.gp
if (!exists("outfile")) outfile = 'ch2_forward_trajectories.png'
set terminal pngcairo size 900,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_forward_trajectories.dat'
set title 'Forward process: paths of x_t over the exact density q(x_t)'
set xlabel 't'; set ylabel 'x_t'; set yrange [-4:4]; set xrange [0:1000]
set palette defined (0 'white', 1 '#9ecae1', 2 '#3182bd', 3 '#08306b'); set cblabel 'q(x_t)'
plot dat index 0 using 1:2:3 with image notitle, \
     for [k=1:20] dat index k using 1:2 with lines lc rgb '#d7301f' lw 1 notitle
