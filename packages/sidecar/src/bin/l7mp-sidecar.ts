#!/usr/bin/env node
import { runMain } from '../main';
import { sidecarRole } from '../sidecar';

void runMain(sidecarRole);
