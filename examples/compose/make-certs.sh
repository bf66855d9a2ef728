#!/bin/sh
# A throw-away CA, a certificate for the demo Dovecot (host name "dovecot") and one for the review
# UI (https://localhost:8443), made once per volume.
set -eu
cd /certs
[ -f dovecot.pem ] && exit 0
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=Kestrel demo CA" -keyout ca.key -out ca.pem
openssl req -newkey rsa:2048 -nodes -subj "/CN=dovecot" -keyout dovecot.key -out dovecot.csr
printf 'subjectAltName=DNS:dovecot\n' > san.ext
openssl x509 -req -in dovecot.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile san.ext -out dovecot.pem
chmod 644 ca.pem dovecot.pem dovecot.key
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout review.key -out review.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > review.ext
openssl x509 -req -in review.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile review.ext -out review.pem
chmod 644 review.pem review.key
