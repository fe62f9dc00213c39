// Cached pages against the database, across a checkpoint. An image holds pages rendered from the database as it
// was when the image was made; every copy restored from it later reopens the database as it is now, with the
// comments that earlier copies (or a cold server) wrote since. Those comments must show, so on restore the
// cached pages of the posts they belong to are evicted. Only post pages show comments, and comments are all the
// blog ever writes (posts, tags and authors are seeded once), so every other cached page stays warm.
import type { BlogContext } from './context.js';
import type { CommentMark } from './db/queries.js';
import { postCacheKey } from './routes/posts.js';

export interface Eviction {
  /** Post pages evicted because their post has comments newer than the mark. */
  readonly posts: readonly string[];
  /** True when comments older than the mark were deleted: every post page was evicted. */
  readonly allPosts: boolean;
}

/** The comments table as the cached pages saw it: taken just before the database closes for a checkpoint. */
export function markComments(ctx: BlogContext): CommentMark {
  return ctx.queries.commentMark();
}

/** Evicts the cached pages that the comments written since `mark` made stale; the database must be open. */
export function evictPagesStaleSince(ctx: BlogContext, mark: CommentMark): Eviction {
  if (ctx.queries.countCommentsUpTo(mark.maxId) !== mark.count) {
    // Someone deleted comments the cached pages show (the blog never does): no cheap way to tell whose.
    ctx.cache.deletePrefix(postCacheKey(''));
    return { posts: [], allPosts: true };
  }
  const posts = ctx.queries.postSlugsCommentedAfter(mark.maxId);
  for (const slug of posts) ctx.cache.delete(postCacheKey(slug));
  return { posts, allPosts: false };
}
