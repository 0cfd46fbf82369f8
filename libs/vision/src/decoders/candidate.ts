/** A scored box before NMS, in whatever pixel frame the caller is working in. */
export interface Candidate {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  classId: number;
}

/** The part of a model spec a decoder reads. */
export interface HeadShape {
  inputWidth: number;
  inputHeight: number;
  numClasses: number;
  numAnchors: number;
}
