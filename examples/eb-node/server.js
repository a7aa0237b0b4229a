// A web app as Elastic Beanstalk's Node.js platform runs it: `npm start`
// (package.json), listening on PORT, which the platform sets (8080 by default)
// and proxies to from nginx on port 80. Only Node's standard library: nothing
// to install.
'use strict';

const http = require('http');

const port = Number(process.env.PORT || 8080);
const instance = process.env.ELBOW_INSTANCE_ID || 'local';

const server = http.createServer((req, res) => {
  res.on('finish', () => {
    // One line per request on stdout: the platform keeps it in web.stdout.log.
    console.log(`${req.socket.remoteAddress} "${req.method} ${req.url}" ${res.statusCode} host=${req.headers.host || '-'} ua="${req.headers['user-agent'] || '-'}"`);
  });
  if (req.url === '/' || req.url.startsWith('/?')) {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`Hello from Node.js on ${instance}.\n`);
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found\n');
});

// Beanstalk's Node.js platform has nginx forward to 127.0.0.1:PORT; listening
// on every address, as most apps do, covers it.
server.listen(port, () => {
  console.log(`listening on port ${port}`);
});

// Stop cleanly when the platform (or elbow) stops the process.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`${signal}: closing`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
