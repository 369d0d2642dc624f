// When the page runs inside an LMS iframe, tell the parent window about the exam's status.
// Messages go only to the origins configured in PROCTOR_FRAME_ANCESTORS, never to "*".
//
// Message: {type: "proctor_web.exam_status", version: 1, course_id, content_id, situation,
//           status, attempt_id, timer_ends, server_time}
// Sent when a page loads (every status change loads a new page) and when a poll sees a change.

export function notifyParent(state, status) {
  if (window.parent === window || !state.frame_ancestors || !state.frame_ancestors.length) return 0;
  const message = {
    type: "proctor_web.exam_status",
    version: 1,
    course_id: state.exam.course_id,
    content_id: state.exam.content_id,
    situation: state.situation,
    status: status === undefined ? state.status : status,
    attempt_id: state.attempt_id,
    timer_ends: state.timer_ends,
    server_time: state.server_time,
  };
  for (const origin of state.frame_ancestors) {
    window.parent.postMessage(message, origin);
  }
  return state.frame_ancestors.length;
}
