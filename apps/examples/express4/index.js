'use strict';

// An Express 4 app in the spirit of Express's own examples/content-negotiation and
// examples/params: one resource served as HTML, plain text or JSON as the client asks, route
// parameters loaded by app.param, a visit counter. No defrost code: `defrost checkpoint` freezes
// it as it is. (`express4` is this workspace's npm alias of express@4, next to Express 5.)

const crypto = require('node:crypto');
const express = require('express4');

const app = express();
module.exports = app;

const users = [
  { name: 'Tobi', email: 'tobi@example.com' },
  { name: 'Loki', email: 'loki@example.com' },
  { name: 'Jane', email: 'jane@example.com' },
];

// what the process has seen since it started
const bootId = crypto.randomUUID();
const visits = { home: 0, users: Object.create(null) };

// so either you can deal with different types of formatting for expected response in index.js
app.get('/', (req, res) => {
  visits.home++;
  res.format({
    html() {
      res.send(`<ul>${users.map((user) => `<li>${user.name}</li>`).join('')}</ul>`);
    },
    text() {
      res.send(users.map((user) => ` - ${user.name}\n`).join(''));
    },
    json() {
      res.json(users);
    },
  });
});

// Load user by id: app.param() runs for every route with a :user parameter
app.param('user', (req, res, next, id) => {
  const user = users[Number(id)];
  if (!user || !/^\d+$/.test(id)) return next(createError(404, `failed to find user ${id}`));
  req.user = user;
  next();
});

function createError(status, message) {
  const err = new Error(message);
  err.status = status;
  return err;
}

// or you could write a tiny middleware like this to add a layer of abstraction and make things a
// bit more declarative:
function format() {
  const obj = {
    html: (req, res) => res.send(`<h1>${req.user.name}</h1><p>${req.user.email}</p>`),
    text: (req, res) => res.send(`${req.user.name} <${req.user.email}>\n`),
    json: (req, res) => res.json(req.user),
  };
  return (req, res) => {
    visits.users[req.params.user] = (visits.users[req.params.user] ?? 0) + 1;
    res.format({
      html: () => obj.html(req, res),
      text: () => obj.text(req, res),
      json: () => obj.json(req, res),
      default: () => res.status(406).send('Not Acceptable'),
    });
  };
}

app.get('/users/:user', format());

app.get('/visits', (req, res) => {
  res.json({ bootId, visits });
});

app.use((err, req, res, next) => {
  res.status(err.status || 500).format({
    html: () => res.send(`<p>${err.message}</p>`),
    default: () => res.json({ error: err.message }),
  });
});

if (require.main === module) {
  const port = Number(process.env.PORT ?? 3000);
  app.listen(port, '127.0.0.1', () => {
    console.log(`Express 4 started on port ${port} (boot ${bootId})`);
  });
}
