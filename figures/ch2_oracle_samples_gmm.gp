# ch2_oracle_samples_gmm.gp: renders ch2_oracle_samples_gmm.png from ch2_oracle_samples_gmm.dat. Re-render with:  cd figures && gnuplot ch2_oracle_samples_gmm.gp
if (!exists("outfile")) outfile = 'ch2_oracle_samples_gmm.png'
set terminal pngcairo size 1000,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_oracle_samples_gmm.dat'
set multiplot layout 1,2 title 'Ancestral sampling with the ideal denoiser E[x_0 | x_t] (gmm)'
set size ratio -1; set xrange [-1.6:1.6]; set yrange [-1.6:1.6]; unset key
set title 'data (true draws)'; plot dat index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#636363'
set title 'samples'; plot dat index 0 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'
unset multiplot
