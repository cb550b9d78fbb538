module github.com/rdbtool/rdbtool

go 1.23
