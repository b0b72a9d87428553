module hubchat/go

go 1.19
