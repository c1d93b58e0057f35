export * from './model.js';
export * from './rules.js';
export * from './stats.js';
export * from './readiness.js';
export * from './asks.js';
