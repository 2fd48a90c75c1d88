FROM alpine:3.20@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef AS a
FROM scratch
COPY --from=a /etc/passwd /etc/passwd
USER 10001
HEALTHCHECK CMD ["/app"]
