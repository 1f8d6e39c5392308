module ontapsim/tests/trident

go 1.26
