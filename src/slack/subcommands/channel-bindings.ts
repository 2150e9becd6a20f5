/**
 * `/vteam subscribe <project>`, `/vteam unsubscribe <project>` and `/vteam list`: the channel binding
 * is the `vteam.ambient-code/slack-channels` annotation on the project's `projectsettings`, written only
 * when the cluster says the caller may; otherwise the caller gets the kubectl command for an admin.
 */
import type { Logger } from 'pino';
import type { IdentityMapper } from '../../identity/identity-mapper.ts';
import type { ProjectDirectory } from '../../publishing/ports.ts';
import {
  annotateCommand,
  channelsChange,
  isProjectName,
  withChannel,
  withoutChannel,
  type ProjectAdmin,
} from '../../vteam/project-admin.ts';
import {
  alreadyBoundText,
  bindingListMessage,
  directMessageText,
  notBoundText,
  projectProblemText,
  refusalText,
  subscribedText,
  unsubscribedText,
  usageText,
  type BoundProject,
} from '../blocks/settings.ts';
import type { Subcommand, SubcommandContext } from '../handlers/vteam-command.ts';
import { checkProjectAccess } from './project-access.ts';

export interface ChannelSubcommandDeps {
  admin: ProjectAdmin;
  projects: Pick<ProjectDirectory, 'projectsBoundTo' | 'jiraSettings'>;
  identities: IdentityMapper;
  logger?: Logger | undefined;
}

export function createChannelSubcommands(deps: ChannelSubcommandDeps): Subcommand[] {
  return [
    {
      name: 'subscribe',
      help: '`/vteam subscribe <project>` · bind this channel to a vTeam project (project admins)',
      run: (context) => changeBinding(deps, context, 'subscribe'),
    },
    {
      name: 'unsubscribe',
      help: '`/vteam unsubscribe <project>` · unbind this channel from a vTeam project (project admins)',
      run: (context) => changeBinding(deps, context, 'unsubscribe'),
    },
    {
      name: 'list',
      help: '`/vteam list` · the projects bound to this channel and their Jira settings',
      run: (context) => listBindings(deps, context),
    },
  ];
}

const ephemeral = (context: SubcommandContext, text: string) => context.respond({ response_type: 'ephemeral', text });

async function changeBinding(deps: ChannelSubcommandDeps, context: SubcommandContext, command: 'subscribe' | 'unsubscribe'): Promise<void> {
  const { admin, logger } = deps;
  const [typed, ...extra] = context.args;
  // Namespace names are lower case; `Team-A` can only mean `team-a`.
  const project = typed?.trim().toLowerCase();
  if (!project || extra.length > 0) return void (await ephemeral(context, usageText(command)));
  if (context.channelId.startsWith('D')) return void (await ephemeral(context, directMessageText));
  if (!isProjectName(project)) return void (await ephemeral(context, projectProblemText(project, { kind: 'missing' })));

  const state = await admin.inspect(project);
  if (state.kind !== 'ready') return void (await ephemeral(context, projectProblemText(project, state)));
  const planned =
    command === 'subscribe' ? withChannel(state.annotations, context.channelId) : withoutChannel(state.annotations, context.channelId);
  if ('already' in planned && planned.already) return void (await ephemeral(context, alreadyBoundText(project)));
  if ('absent' in planned && planned.absent) return void (await ephemeral(context, notBoundText(project)));

  const access = await checkProjectAccess(deps, context.user, project);
  if (!access.allowed) {
    logger?.info({ user: context.user.userId, project, command, reason: access.refusal.reason }, 'project binding change refused');
    const what = command === 'subscribe' ? 'bind this channel' : 'unbind this channel';
    return void (await ephemeral(
      context,
      refusalText(project, access.refusal, annotateCommand(project, channelsChange(planned.channels)), what),
    ));
  }

  // Re-planned on the annotations actually read before each write attempt, so concurrent edits are kept.
  const result = await admin.updateAnnotations(project, (annotations) => {
    if (command === 'subscribe') {
      const next = withChannel(annotations, context.channelId);
      return next.already ? { value: 'already' as const } : { change: channelsChange(next.channels), value: 'done' as const };
    }
    const next = withoutChannel(annotations, context.channelId);
    return next.absent ? { value: 'absent' as const } : { change: channelsChange(next.channels), value: 'done' as const };
  });
  if (!result.ok) return void (await ephemeral(context, projectProblemText(project, result.state)));
  if (result.value === 'already') return void (await ephemeral(context, alreadyBoundText(project)));
  if (result.value === 'absent') return void (await ephemeral(context, notBoundText(project)));

  logger?.info(
    { user: context.user.userId, clusterUser: access.identity.user, project, channel: context.channelId, command },
    'channel binding changed',
  );
  // The whole channel should know what it is now bound to.
  const text = command === 'subscribe' ? subscribedText(project, context.user.userId) : unsubscribedText(project, context.user.userId);
  await context.respond({ response_type: 'in_channel', text });
}

async function listBindings(deps: ChannelSubcommandDeps, context: SubcommandContext): Promise<void> {
  const projects = await deps.projects.projectsBoundTo(context.channelId);
  const bound: BoundProject[] = await Promise.all(
    projects.map(async (project): Promise<BoundProject> => {
      try {
        return { project, jira: (await deps.projects.jiraSettings(project)).settings };
      } catch (error) {
        deps.logger?.warn({ err: error, project }, "could not read a bound project's Jira settings");
        return { project, jira: 'unreadable' };
      }
    }),
  );
  await context.respond({ response_type: 'ephemeral', ...bindingListMessage(bound) });
}
