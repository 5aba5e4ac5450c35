/**
 * @peculiar/x509 for reading certificate fields. The metadata shim must be evaluated before the
 * library (tsyringe checks for Reflect.getMetadata when it loads), so every module in src/ imports
 * the library through this one.
 */
import './reflect-metadata.js';

export * as x509 from '@peculiar/x509';
