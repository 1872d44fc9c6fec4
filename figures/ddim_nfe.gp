# ddim_nfe.gp: renders ddim_nfe.png from ddim_nfe.dat. Re-render with:  cd figures && gnuplot ddim_nfe.gp
if (!exists("outfile")) outfile = 'ddim_nfe.png'
set terminal pngcairo size 1300,540 enhanced font 'Sans,10'
set output outfile
dat = 'ddim_nfe.dat'
set multiplot layout 1,2 title 'Quality against cost on the 2D mixture: sliced W1 to the data law, mean ± s.e. over (x_T, reference) pairs'
set logscale xy; set xlabel 'network evaluations (steps)'; set ylabel 'sliced W1'; set xrange [4:1200]; set yrange [0.01:2]
array NAMES[5] = ['DDPM ancestral (sigma^2 = beta)', 'DDIM eta = 1 (= chapter 2)', 'DDIM eta = 0', 'accelerated (gamma = 2)', 'DPM-Solver++(2M)']
set key top right font ',9'
set title 'exact denoiser E[x_0 | x_t], n = 2000, 8 pairs'
fl = 0.0219498; fsd = 0.00697964
plot '+' using 1:(fl-fsd):(fl+fsd) with filledcurves lc rgb '#dddddd' title 'noise floor ± sd of one pair (100 pairs)', \
     fl with lines dt 3 lw 2 lc rgb 'black' notitle, \
     for [m=0:4] dat index 0+m using 1:2:3 with yerrorlines lw 2 pt 7 ps 0.7 lc (m < 4 ? m + 1 : 7) title NAMES[m+1]
set title 'trained eps network (toymodel), n = 1000, 4 pairs'
fl = 0.0324492; fsd = 0.0108774
plot '+' using 1:(fl-fsd):(fl+fsd) with filledcurves lc rgb '#dddddd' title 'noise floor ± sd of one pair (100 pairs)', \
     fl with lines dt 3 lw 2 lc rgb 'black' notitle, \
     for [m=0:4] dat index 5+m using 1:2:3 with yerrorlines lw 2 pt 7 ps 0.7 lc (m < 4 ? m + 1 : 7) title NAMES[m+1]
unset multiplot
