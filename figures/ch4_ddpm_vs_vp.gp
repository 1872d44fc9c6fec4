# ch4_ddpm_vs_vp.gp: renders ch4_ddpm_vs_vp.png from ch4_ddpm_vs_vp.dat. Re-render with:  cd figures && gnuplot ch4_ddpm_vs_vp.gp
if (!exists("outfile")) outfile = 'ch4_ddpm_vs_vp.png'
set terminal pngcairo size 800,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_ddpm_vs_vp.dat'
set title 'DDPM -> VP SDE: discrete chain and Euler-Maruyama agree as N grows'
set logscale xy; set xlabel 'number of steps N'; set ylabel 'difference'; set key bottom left; set grid
set xrange [40:1000]
plot dat using 1:2 with linespoints pt 7 lw 2 title 'alpha-bar: |prod(1 - beta_i) / exp(-B(1/2)) - 1|', \
     dat using 1:3 with linespoints pt 5 lw 2 title 'reverse: median |x_{DDPM} - x_{EM}| at t = 0 (same noise)', \
     0.783761 / x with lines dt 2 lc rgb 'black' title 'slope -1 (order 1)'
