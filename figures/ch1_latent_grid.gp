# ch1_latent_grid.gp: renders ch1_latent_grid.png from ch1_latent_grid.dat. Re-render with:  cd figures && gnuplot ch1_latent_grid.gp
if (!exists("outfile")) outfile = 'ch1_latent_grid.png'
set terminal pngcairo size 800,800 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_latent_grid.dat'
set title "Decoder means m_θ(z) on a grid of the 2D latent z (tile centres labelled)"
set size ratio -1; set xrange [0:581]; set yrange [0:581]; unset key; set border 0
set xtics ("-2.5" 15, "" 44, "" 73, "-1.7" 102, "" 131, "" 160, "-0.92" 189, "" 218, "" 247, "-0.13" 276, "" 305, "" 334, "0.66" 363, "" 392, "" 421, "1.4" 450, "" 479, "" 508, "2.2" 537, "2.5" 566) scale 0 font ',9'
set ytics ("2.5" 566, "" 537, "" 508, "1.7" 479, "" 450, "" 421, "0.92" 392, "" 363, "" 334, "0.13" 305, "" 276, "" 247, "-0.66" 218, "" 189, "" 160, "-1.4" 131, "" 102, "" 73, "-2.2" 44, "-2.5" 15) scale 0 font ',9'
set xlabel "z_1"
set ylabel "z_2"
plot 'ch1_latent_grid_pixels.png' binary filetype=png with rgbimage
