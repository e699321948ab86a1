#!/usr/bin/env node
import { runMain } from '@l7mp/sidecar';
import { ingressRole } from '../ingress';

void runMain(ingressRole);
