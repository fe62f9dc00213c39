'use strict';

// An Express 5 web service in the spirit of Express's own examples/web-service: an API behind
// api keys, users and repos, JSON errors. No defrost code: `defrost checkpoint` freezes it as it is.

const crypto = require('node:crypto');
const express = require('express');

const app = express();
module.exports = app;

// create an error with .status. we can then use the property in our custom error handler
// (Connect respects this prop as well)
function error(status, msg) {
  const err = new Error(msg);
  err.status = status;
  return err;
}

// map of valid api keys, typically mapped to account info with some sort of database like redis.
// api keys do _not_ serve as authentication, merely to track API usage or help prevent malicious
// behavior etc.
const apiKeys = ['foo', 'bar', 'baz'];

// requests per api key since the process started: what a metering middleware keeps
const usage = Object.create(null);
const bootId = crypto.randomUUID();

// if we wanted to supply more than JSON, we could use something similar to the
// content-negotiation example.

// here we validate the API key, by mounting this middleware to /api; meaning only paths prefixed
// with "/api" will cause this middleware to be invoked
app.use('/api', (req, res, next) => {
  const key = req.query['api-key'];
  // key isn't present
  if (!key) return next(error(400, 'api key required'));
  // key is invalid
  if (!apiKeys.includes(key)) return next(error(401, 'invalid api key'));
  // all good, store req.key for route access
  usage[key] = (usage[key] ?? 0) + 1;
  req.key = key;
  next();
});

// these two objects will serve as our faux database
const repos = [
  { name: 'express', url: 'https://github.com/expressjs/express' },
  { name: 'stylus', url: 'https://github.com/learnboost/stylus' },
  { name: 'cluster', url: 'https://github.com/learnboost/cluster' },
];
const users = [{ name: 'tobi' }, { name: 'loki' }, { name: 'jane' }];
const userRepos = {
  tobi: [repos[0], repos[1]],
  loki: [repos[1]],
  jane: [repos[2]],
};

// we now can assume the api key is valid, and simply expose the data

// example: http://localhost:3000/api/users/?api-key=foo
app.get('/api/users', (req, res) => {
  res.send(users);
});

// example: http://localhost:3000/api/repos/?api-key=foo
app.get('/api/repos', (req, res) => {
  res.send(repos);
});

// example: http://localhost:3000/api/user/tobi/repos/?api-key=foo
app.get('/api/user/:name/repos', (req, res, next) => {
  const user = userRepos[req.params.name];
  if (user) res.send(user);
  else next();
});

// example: http://localhost:3000/api/usage/?api-key=foo
app.get('/api/usage', (req, res) => {
  res.send({ bootId, usage });
});

// middleware with an arity of 4 are considered error handling middleware. When you next(err) it
// will be passed through the defined middleware in order, but ONLY those with an arity of 4,
// ignoring regular middleware.
app.use((err, req, res, next) => {
  // whatever you want here, feel free to populate properties on `err` to treat it differently in
  // here.
  res.status(err.status || 500);
  res.send({ error: err.message });
});

// our custom JSON 404 middleware. Since it's placed last it will be the last middleware called,
// if all others invoke next() and do not respond.
app.use((req, res) => {
  res.status(404);
  res.send({ error: "Sorry, can't find that" });
});

if (require.main === module) {
  const port = Number(process.env.PORT ?? 3000);
  app.listen(port, '127.0.0.1', () => {
    console.log(`Express started on port ${port} (boot ${bootId})`);
  });
}
