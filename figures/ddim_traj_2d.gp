# ddim_traj_2d.gp: renders ddim_traj_2d.png from ddim_traj_2d.dat. Re-render with:  cd figures && gnuplot ddim_traj_2d.gp
if (!exists("outfile")) outfile = 'ddim_traj_2d.png'
set terminal pngcairo size 1500,520 enhanced font 'Sans,10'
set output outfile
dat = 'ddim_traj_2d.dat'
set multiplot layout 1,3 title 'Reverse paths from the same x_T with the exact denoiser (gmm): DDPM vs DDIM'
set size ratio -1; set xrange [-2.6:2.6]; set yrange [-2.6:2.6]; unset key
set title 'eta = 1 (DDPM ancestral), 1000 steps'
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', \
     for [k=1:14] dat index k using 1:2 with lines lw 1.5 lc k, \
     for [k=1:14] dat index k every ::0::0 using 1:2 with points pt 6 ps 1 lc rgb 'black'
set title 'eta = 0 (DDIM, deterministic), 1000 steps'
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', \
     for [k=15:28] dat index k using 1:2 with lines lw 1.5 lc k, \
     for [k=15:28] dat index k every ::0::0 using 1:2 with points pt 6 ps 1 lc rgb 'black'
set title 'eta = 0, 10 steps (points = steps)'
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', \
     for [k=29:42] dat index k using 1:2 with linespoints pt 7 ps 0.6 lw 1.5 lc k, \
     for [k=29:42] dat index k every ::0::0 using 1:2 with points pt 6 ps 1 lc rgb 'black'
unset multiplot
