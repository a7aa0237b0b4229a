// A minimal Express 4 app as users deploy it behind a load balancer, started
// as in production: NODE_ENV=production node app.js, listening on HOST:PORT.
// Debian's node-express is found through NODE_PATH=/usr/share/nodejs.
//
// GUARD picks the middleware in front of the routes, the two a health check
// meets in real apps:
//   host      a host check answering 403 "Invalid Host header" to any Host
//             but PUBLIC_HOST, as DNS-rebinding guards and host-validation
//             middleware do, logging the refused Host on stderr;
//   proto     an HTTPS redirect on the X-Forwarded-Proto header the load
//             balancer sets (the health check carries none);
//   secure    an HTTPS redirect on req.secure without app.set('trust proxy'),
//             which then never reads X-Forwarded-Proto (Express's
//             lib/request.js, the protocol getter, 4.18).
'use strict';
const express = require('express');

const app = express();
const publicHost = process.env.PUBLIC_HOST || 'www.example.com';

switch (process.env.GUARD) {
case 'host':
  app.use((req, res, next) => {
    const host = (req.headers.host || '').replace(/:\d+$/, '');
    if (host !== publicHost) {
      console.error(`Invalid Host header: ${req.headers.host} (allowed: ${publicHost})`);
      return res.status(403).type('text').send('Invalid Host header');
    }
    next();
  });
  break;
case 'proto':
  app.use((req, res, next) => {
    if (req.headers['x-forwarded-proto'] !== 'https') {
      return res.redirect(301, `https://${req.headers.host}${req.originalUrl}`);
    }
    next();
  });
  break;
case 'secure':
  app.use((req, res, next) => {
    if (!req.secure) {
      return res.redirect(302, `https://${req.hostname}${req.originalUrl}`);
    }
    next();
  });
  break;
}

app.get('/', (req, res) => res.send('<h1>Shop</h1>'));

const server = app.listen(Number(process.env.PORT), process.env.HOST, () => {
  const a = server.address();
  console.log(`listening on ${a.address}:${a.port}`);
});
