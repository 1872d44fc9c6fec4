# ch1_fig1_1.gp: renders ch1_fig1_1.png from ch1_fig1_1.dat. Re-render with:  cd figures && gnuplot ch1_fig1_1.gp
if (!exists("outfile")) outfile = 'ch1_fig1_1.png'
set terminal pngcairo size 1000,1000 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_fig1_1.dat'
set multiplot layout 3,3 title 'Fig. 1.1, computed: x -> encoder -> z (2D) -> decoder -> x_{hat} (Fashion-MNIST test images)'
set palette grey; set cbrange [0:1]; unset colorbox; unset key
set size ratio -1; unset tics; set xrange [-0.5:27.5]; set yrange [-0.5:27.5]; set title 'x (Trouser)'
plot dat index 0 using 1:2:3 with image
set size ratio 1; set tics; set xrange [-4:4]; set yrange [-4:4]; set title 'z = (3.15, 1.55)'
plot dat index 6 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', '' index 6 every ::2::2 using 1:2 with points pt 7 ps 2.5 lc rgb '#d7301f'
set size ratio -1; unset tics; set xrange [-0.5:27.5]; set yrange [-0.5:27.5]; set title 'x_{hat} = decoder(z)'
plot dat index 1 using 1:2:3 with image
set size ratio -1; unset tics; set xrange [-0.5:27.5]; set yrange [-0.5:27.5]; set title 'x (Sneaker)'
plot dat index 2 using 1:2:3 with image
set size ratio 1; set tics; set xrange [-4:4]; set yrange [-4:4]; set title 'z = (1.29, 2.40)'
plot dat index 6 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', '' index 6 every ::9::9 using 1:2 with points pt 7 ps 2.5 lc rgb '#d7301f'
set size ratio -1; unset tics; set xrange [-0.5:27.5]; set yrange [-0.5:27.5]; set title 'x_{hat} = decoder(z)'
plot dat index 3 using 1:2:3 with image
set size ratio -1; unset tics; set xrange [-0.5:27.5]; set yrange [-0.5:27.5]; set title 'x (Bag)'
plot dat index 4 using 1:2:3 with image
set size ratio 1; set tics; set xrange [-4:4]; set yrange [-4:4]; set title 'z = (-2.62, -1.31)'
plot dat index 6 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', '' index 6 every ::18::18 using 1:2 with points pt 7 ps 2.5 lc rgb '#d7301f'
set size ratio -1; unset tics; set xrange [-0.5:27.5]; set yrange [-0.5:27.5]; set title 'x_{hat} = decoder(z)'
plot dat index 5 using 1:2:3 with image
unset multiplot
