/**
 * Message patterns apps/results answers over @nestjs/microservices (TCP). The gateway is the only
 * caller; it never touches Postgres itself.
 */
export const ResultsRpc = Object.freeze({
  GetDetection: 'detections.get',
  ListDetections: 'detections.list',
  Health: 'results.health',
} as const);
export type ResultsRpc = (typeof ResultsRpc)[keyof typeof ResultsRpc];

export interface GetDetectionRequest {
  id: string;
}

export interface ResultsHealth {
  database: boolean;
  migrations: { applied: number; pending: number };
}
