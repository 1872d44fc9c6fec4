# ch1_samples_by_density.gp: renders ch1_samples_by_density.png from ch1_samples_by_density.dat. Re-render with:  cd figures && gnuplot ch1_samples_by_density.gp
if (!exists("outfile")) outfile = 'ch1_samples_by_density.png'
set terminal pngcairo size 900,760 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_samples_by_density.dat'
set title "The 100 prior samples of ch1 samples, sorted by q(z)/p(z) (aggregate posterior / prior): holes first"
set size ratio -1; set xrange [0:582]; set yrange [0:582]; unset key; set border 0
unset xtics
set ytics ("q/p 3.8e-93..3.3e-39" 552, "q/p 1.2e-36..4.9e-07" 494, "q/p 1.2e-06..0.00015" 436, "q/p 0.00018..0.0063" 378, "q/p 0.0066..0.078" 320, "q/p 0.086..0.25" 262, "q/p 0.25..0.51" 204, "q/p 0.55..1" 146, "q/p 1.1..2.1" 88, "q/p 2.1..6" 30) scale 0 font ',9'
plot 'ch1_samples_by_density_pixels.png' binary filetype=png with rgbimage
