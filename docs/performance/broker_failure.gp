set terminal pngcairo size 1000,500 font 'sans,10'
set output 'docs/performance/broker_failure.png'
set title 'Click count through broker failures (20000 records/s offered; red: broker down, green: back up)'
set xlabel 'seconds'
set ylabel 'records processed per second (100 ms bins)'
set grid
set yrange [0:*]
set arrow from 3.014566, graph 0 to 3.014566, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 crashed' at 3.114566, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 8.000815, graph 0 to 8.000815, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 8.100815, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 12.205068, graph 0 to 12.205068, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 1 stopped (coordinator)' at 12.305068, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 15.000435, graph 0 to 15.000435, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 1 up' at 15.100435, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 17.512060, graph 0 to 17.512060, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 stopped (coordinator)' at 17.612060, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 20.007438, graph 0 to 20.007438, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 20.107438, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 22.279916, graph 0 to 22.279916, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 3 stopped' at 22.379916, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 25.000510, graph 0 to 25.000510, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 3 up' at 25.100510, graph 0.97 rotate by -90 font 'sans,8'
plot 'docs/performance/broker_failure.dat' using 1:2 with lines lw 1.5 notitle
